// Typed string fields of the topology: every value that reaches a host (a script, a unit, an argv, a file name)
// is one of these, so a value is refused at parse time or harmless wherever it lands.
import { isIP } from "node:net";
import * as posix from "node:path/posix";
import { z } from "zod";
import { shownValue } from "./problems";

/** Longest path accepted (Linux PATH_MAX). */
export const MAX_PATH = 4096;
/** Longest environment value accepted: far above any real setting, far below the kernel's argument limit. */
export const MAX_ENV_VALUE = 8192;
/** Longest free-text field accepted (AMI names, instance types, region names). */
export const MAX_TEXT = 256;

/** A string refused with `why(value)` when `ok(value)` is false; the message names what was given, safely. */
function checked(max: number, ok: (v: string) => boolean, why: string) {
  return z
    .string()
    .max(max, `must be at most ${max} characters`)
    .superRefine((v, ctx) => {
      if (v.length <= max && !ok(v)) ctx.addIssue({ code: "custom", message: `${why}, got ${shownValue(v)}`, input: v });
    });
}

// Control characters (C0, DEL, C1) and the Unicode line and paragraph separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** Characters a path may hold: no whitespace (systemd splits on it), no quotes, `$`, `%` (a unit specifier), `\`. */
const PATH_CHARS = /^[A-Za-z0-9._/@+,=-]+$/;

/** An absolute, normalized path of plain characters: safe in a unit file, an argv and a file name. */
export function isPlainAbsolutePath(v: string): boolean {
  return v.startsWith("/") && PATH_CHARS.test(v) && posix.normalize(v) === v && (v === "/" || !v.endsWith("/"));
}

export const absolutePath = checked(
  MAX_PATH,
  isPlainAbsolutePath,
  "must be an absolute, normalized path of letters, digits and ._-/@+,= (no spaces)",
);
/** An absolute, normalized path of one line: for files that reach only quoted env values and argv words, never a unit. */
export const isAbsolutePath = (v: string) => v.startsWith("/") && !CONTROL.test(v) && posix.normalize(v) === v && (v === "/" || !v.endsWith("/"));
/** An absolute path, or "" for off (so Pulumi.yaml can declare the field with a default). */
export const optionalPath = checked(
  MAX_PATH,
  (v) => v === "" || isAbsolutePath(v),
  "must be an absolute, normalized path without control characters, or empty for off",
)
  // Off is one value whichever way it was said.
  .transform((v) => (v === "" ? undefined : v));

/** One segment of a Hugging Face repository id: word characters, `.` and `-`, starting and ending with a word character. */
const HUB_SEGMENT = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
/** The hub's rules for `name` or `org/name` (huggingface_hub's validate_repo_id): ≤ 96 characters a segment, no `--` or `..`. */
export function isHubRepoId(v: string): boolean {
  const parts = v.split("/");
  return (
    parts.length <= 2 && parts.every((p) => p.length <= 96 && HUB_SEGMENT.test(p)) && !v.includes("--") && !v.includes("..") && !v.endsWith(".git")
  );
}
export const modelId = checked(
  MAX_PATH,
  (v) => isHubRepoId(v) || isPlainAbsolutePath(v),
  "must be a Hugging Face repository id (name or org/name) or an absolute path",
);

/** A command found on PATH (a plain name) or given by absolute path. */
export const commandName = checked(
  MAX_PATH,
  (v) => /^[A-Za-z0-9_][A-Za-z0-9._+-]{0,254}$/.test(v) || isPlainAbsolutePath(v),
  "must be a command name or an absolute path",
);

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const envName = z
  .string()
  .max(255, "must be at most 255 characters")
  .regex(ENV_NAME, "must be a POSIX environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
export const envValue = checked(MAX_ENV_VALUE, (v) => !/[\0\n\r]/.test(v), "must be one line (no NUL, newline or carriage return)");

/** A DNS name: dot-separated labels of letters, digits and inner `-`; never starts with `-`. */
const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
export function isHostAddress(v: string): boolean {
  if (isIP(v) !== 0) return true;
  return v.length <= 253 && v.split(".").every((l) => DNS_LABEL.test(l)) && !/^[0-9.]+$/.test(v);
}
/** An address a host is reached at, or a router binds to: IPv4, IPv6 or a DNS name. */
export const hostAddress = checked(253, isHostAddress, "must be an IPv4 or IPv6 address or a DNS name");

/** A POSIX login name (the portable filename characters, not starting with `-`), at most 32 characters. */
export const loginName = checked(
  32,
  (v) => /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(v),
  "must be a login name (letters, digits, _.-, not starting with - or a digit)",
);

/** `a.b.c.d/n` with every octet 0-255 (no leading zeros) and n 0-32. */
export function isIpv4Cidr(v: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(v);
  if (!m) return false;
  const octets = m.slice(1, 5);
  return octets.every((o) => Number(o) <= 255 && (o === "0" || !o.startsWith("0"))) && Number(m[5]) <= 32 && (m[5] === "0" || !m[5].startsWith("0"));
}
export const ipv4Cidr = checked(18, isIpv4Cidr, "must be an IPv4 CIDR such as 203.0.113.0/24 (octets 0-255, prefix 0-32)");

/** Plain text of limited length and no control characters, for values that only reach a cloud API. */
export const plainText = (max = MAX_TEXT) =>
  checked(max, (v) => v.length > 0 && !CONTROL.test(v), "must be non-empty text without control characters");
/** A cloud identifier: letters, digits, `.` `_` `-`, not starting with `-`. */
export const cloudId = (pattern: RegExp, example: string) => checked(MAX_TEXT, (v) => pattern.test(v), `must look like ${example}`);
