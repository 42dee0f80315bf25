// Usage and config errors: one line per problem, printed without a stack trace.

/** A problem the user can fix; exit code 2 like a usage error unless said otherwise. */
export class CliError extends Error {
  constructor(
    readonly problems: readonly string[],
    readonly exitCode = 2,
  ) {
    super(problems.join("\n"));
    this.name = "CliError";
  }
}
