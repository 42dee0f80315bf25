// vLLM-style log lines: `INFO 11-24 04:49:52 [where] message` on stdout; a fatal error ends like a Python traceback on stderr.

export type Level = "INFO" | "WARNING" | "ERROR";

function stamp(now: Date): string {
  const p = (n: number): string => String(n).padStart(2, "0");
  return `${p(now.getMonth() + 1)}-${p(now.getDate())} ${p(now.getHours())}:${p(now.getMinutes())}:${p(now.getSeconds())}`;
}

export function log(level: Level, where: string, message: string): void {
  process.stdout.write(`${level} ${stamp(new Date())} [${where}] ${message}\n`);
}

/** Log an error the way vLLM dies of one (an ERROR line, then a traceback ending in `<errorType>: <message>`), and exit. */
export function die(where: string, summary: string, errorType: string, message: string, code = 1): never {
  log("ERROR", where, summary);
  process.stderr.write(`Traceback (most recent call last):\n  File "vllm-sim/${where}", in <module>\n${errorType}: ${message}\n`);
  process.exit(code);
}
