// Temporary directories for tests: removed when the test passes, kept (and named on stderr) when it fails, so
// nothing is left in the temp dir by a green run and a red one still shows its logs.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** Runs `body` with a fresh directory `<tmp>/<prefix>XXXXXX`; removes it afterwards unless `body` throws. */
export async function withTempDir<T>(prefix: string, body: (dir: string) => T | Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    const result = await body(dir);
    fs.rmSync(dir, { recursive: true, force: true });
    return result;
  } catch (e) {
    process.stderr.write(`test failed: its files are kept in ${dir}\n`);
    throw e;
  }
}
