// A small flag parser for the CLI's subcommands: long and short names, `--flag=value`, suggestions for typos.
import { nearestName } from "../components/nearestName";
import { shownValue } from "../components/problems";
import { CliError } from "./errors";

export interface FlagSpec {
  /** Long name with dashes, e.g. `--num-instances`. */
  readonly name: string;
  readonly short?: string;
  /** Placeholder of the value (`NUM`), or absent for a boolean switch. */
  readonly value?: string;
  readonly help: string;
}

export type ParsedFlags = ReadonlyMap<string, string | true>;

/** Parse argv against the specs; every problem is collected, then thrown as one CliError. */
export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[]): ParsedFlags {
  const byName = new Map<string, FlagSpec>();
  for (const s of specs) {
    byName.set(s.name, s);
    if (s.short) byName.set(s.short, s);
  }
  const out = new Map<string, string | true>();
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    const eq = word.startsWith("--") ? word.indexOf("=") : -1;
    const name = eq > 0 ? word.slice(0, eq) : word;
    const spec = byName.get(name);
    if (!spec) {
      const near = name.startsWith("-")
        ? nearestName(
            name,
            [...byName.keys()].filter((k) => k.startsWith("--")),
          )
        : null;
      const shown = /^-{0,2}[A-Za-z0-9][A-Za-z0-9-]{0,40}$/.test(name) ? name : shownValue(name);
      problems.push(`${shown}: ${name.startsWith("-") ? "unknown flag" : "unexpected argument"}${near ? ` (did you mean ${near}?)` : ""}`);
      // An unknown flag's likely value is not a second problem.
      if (name.startsWith("-") && eq < 0 && argv[i + 1] !== undefined && !argv[i + 1].startsWith("-")) i++;
      continue;
    }
    if (!spec.value) {
      if (eq > 0) problems.push(`${spec.name}: takes no value`);
      else out.set(spec.name, true);
      continue;
    }
    const value = eq > 0 ? word.slice(eq + 1) : argv[i + 1];
    if (value === undefined || (eq < 0 && value.startsWith("-") && value.length > 1 && byName.has(value.split("=")[0]))) {
      problems.push(`${spec.name}: needs a value (${spec.value})`);
      continue;
    }
    if (eq < 0) i++;
    out.set(spec.name, value);
  }
  if (problems.length) throw new CliError(problems);
  return out;
}

/** The value of a flag that takes one, or undefined when it was not given. */
export function flagValue(flags: ParsedFlags, name: string): string | undefined {
  const v = flags.get(name);
  return typeof v === "string" ? v : undefined;
}

/** Numbers as numbers (so the schema can say "must be an integer, got …"), anything else unchanged. */
export function numeric(value: string | undefined): number | string | undefined {
  return value !== undefined && /^-?(\d+(\.\d*)?|\.\d+)$/.test(value) ? Number(value) : value;
}

/** A subcommand's flags, or null when it was asked for --help (its usage is then printed). */
export function commandFlags(argv: readonly string[], specs: readonly FlagSpec[], usage: string): ParsedFlags | null {
  const flags = parseFlags(argv, specs);
  if (!flags.has("--help")) return flags;
  console.log(usage);
  return null;
}

/** The value of a flag the command cannot do without. */
export function requiredFlag(flags: ParsedFlags, name: string, hint: string): string {
  const v = flagValue(flags, name);
  if (v === undefined) throw new CliError([`${name}: required (${hint})`]);
  return v;
}

/** Help text: one line per flag, aligned. */
export function flagHelp(specs: readonly FlagSpec[]): string {
  const left = specs.map((s) => `${s.short ? `${s.short}, ` : "    "}${s.name}${s.value ? ` ${s.value}` : ""}`);
  const width = Math.max(...left.map((l) => l.length)) + 2;
  return specs.map((s, i) => `  ${left[i].padEnd(width)}${s.help}`).join("\n");
}
