// No file in the repository cites a repository path that does not exist: markdown links, `dir/file.ext`-looking
// references that start at a top-level entry, bare `NAME.md` names, and the anchors of markdown sections they name.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO } from "./helpers/runCli";

/** Top-level entries git ignores (node_modules, installed tools): neither scanned nor citable. */
const IGNORED = new Set(
  fs
    .readFileSync(path.join(REPO, ".gitignore"), "utf8")
    .split("\n")
    .map((l) => l.trim().replace(/^\/|\/$/g, ""))
    .filter((l) => l && !l.startsWith("#") && !/[*/]/.test(l)),
);
/** Generated text that cites nothing of ours, and this file, whose examples of broken citations are on purpose. */
const SKIPPED = new Set(["package-lock.json", "test/repo-paths.test.ts"]);
/** Go module files describe the Pulumi repository's own layout (`replace … => ../sdk`), not ours. */
const GO_MODULE = /(^|\/)go\.(mod|sum)$/;
/** Placeholders in a path (`stacks/Pulumi.NAME.yaml`) make it a pattern, not a citation. */
const PLACEHOLDER = /\b(NAME|STACK|FILE|DIR|ROLE)\b/;

function filesUnder(dir: string): string[] {
  return fs.readdirSync(path.join(REPO, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (e.name === ".git" || (!dir && IGNORED.has(e.name)) || e.name === "node_modules") return [];
    return e.isDirectory() ? filesUnder(rel) : e.isFile() ? [rel] : [];
  });
}

const TOP_LEVEL = new Set(fs.readdirSync(REPO).filter((e) => e !== ".git" && !IGNORED.has(e)));
/** A file or directory, or a module specifier as TypeScript resolves it (`../components/plan`). */
const exists = (rel: string) => ["", ".ts", ".js", "/index.ts"].some((ext) => fs.existsSync(path.join(REPO, rel + ext)));

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
export const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");

function anchorsOf(rel: string): Set<string> {
  const text = fs.readFileSync(path.join(REPO, rel), "utf8").replace(/```[\s\S]*?```/g, "");
  return new Set([...text.matchAll(/^#{1,6} +(.+)$/gm)].map((m) => anchorOf(m[1])));
}

/** What one file cites that is missing, one line each. */
export function brokenCitations(rel: string, text: string): string[] {
  const broken: string[] = [];
  const dir = path.posix.dirname(rel);
  const check = (target: string, anchor: string | undefined, cited: string) => {
    if (!exists(target)) broken.push(`${rel}: cites ${cited}, which does not exist`);
    else if (anchor && target.endsWith(".md") && !anchorsOf(target).has(anchor))
      broken.push(`${rel}: cites ${cited}: ${target} has no section #${anchor}`);
  };
  if (rel.endsWith(".md")) {
    for (const [, link] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(link)) continue;
      const [file, anchor] = link.split("#");
      check(file ? path.posix.normalize(path.posix.join(dir, file)) : rel, anchor, link);
    }
  }
  // A path starts at a top-level entry, is not the tail of a longer path or URL, and is not a pattern (<x>, *, ${x}).
  for (const [, cited, anchor] of text.matchAll(/(?<![\w./@:-])((?:[\w.-]+\/)+[\w.-]*)(?:#([\w-]+))?(?![\w.<*${/-])/g)) {
    const first = cited.split("/")[0];
    if (PLACEHOLDER.test(cited)) continue;
    const shown = cited + (anchor ? `#${anchor}` : "");
    if (TOP_LEVEL.has(first)) check(cited.replace(/\.$/, ""), anchor, shown);
    else if (first === ".." && path.posix.normalize(path.posix.join(dir, cited)).startsWith("../"))
      // Inside the repository, a ../ path is a module specifier (the compiler checks those) or test input.
      broken.push(`${rel}: cites ${shown}, outside the repository`);
    else if (/\.md$/.test(cited) && !first.includes(".")) broken.push(`${rel}: cites ${shown}, which is not a path in the repository`);
  }
  for (const [, name] of text.matchAll(/(?<![\w./-])([A-Z][A-Z0-9_-]*\.md)\b/g))
    if (!exists(path.posix.join(dir, name)) && !exists(name)) broken.push(`${rel}: cites ${name}, which is neither beside it nor at the top`);
  return [...new Set(broken)];
}

test("every repository path cited by a file in the repository exists, anchors included", () => {
  const files = filesUnder("").filter((f) => !SKIPPED.has(f) && !GO_MODULE.test(f));
  assert.ok(files.length > 50, `scanned ${files.length} files`);
  const broken = files.flatMap((f) => {
    const text = fs.readFileSync(path.join(REPO, f));
    return text.includes(0) ? [] : brokenCitations(f, text.toString("utf8"));
  });
  assert.deepEqual(broken, []);
});

test("the checker catches a missing file, a missing section and a design file from outside", () => {
  assert.deepEqual(brokenCitations("README.md", "see [the design](docs/nowhere.md) and `components/plan.ts`"), [
    "README.md: cites docs/nowhere.md, which does not exist",
  ]);
  assert.deepEqual(brokenCitations("components/plan.ts", "// (docs/architecture.md#ports) and (docs/architecture.md#decision-9)"), [
    "components/plan.ts: cites docs/architecture.md#decision-9: docs/architecture.md has no section #decision-9",
  ]);
  assert.deepEqual(brokenCitations("cli/planJson.ts", "// the shapes of DESIGN.md"), [
    "cli/planJson.ts: cites DESIGN.md, which is neither beside it nor at the top",
  ]);
  assert.deepEqual(brokenCitations("components/plan.ts", "// reference/launcher-facts.md, ../../shared/seed/README.md, ../components/plan.ts"), [
    "components/plan.ts: cites reference/launcher-facts.md, which is not a path in the repository",
    "components/plan.ts: cites ../../shared/seed/README.md, outside the repository",
  ]);
  assert.deepEqual(
    brokenCitations(
      "cli/main.ts",
      "// test/<what>.system.test.ts, stacks/Pulumi.<stack>.yaml, stacks/Pulumi.NAME.yaml, https://github.com/o/r/blob/main/README.md",
    ),
    [],
  );
  assert.equal(anchorOf("DP ranks"), "dp-ranks");
  assert.equal(anchorOf("Node.js version"), "nodejs-version");
});
