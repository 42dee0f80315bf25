// Runs every bench/*.bench.ts in name order, each in its own process (benchmarks leave global state behind, such
// as Pulumi's runtime). `npm run bench -- program` runs only the files whose name contains "program".
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const filters = process.argv.slice(2);
const files = readdirSync(__dirname)
  .filter((f) => f.endsWith(".bench.ts") && (filters.length === 0 || filters.some((x) => f.includes(x))))
  .sort();
if (files.length === 0) {
  console.error(`bench: no bench/*.bench.ts matches ${filters.join(", ")}`);
  process.exit(1);
}
const failed = files.filter((f) => {
  console.log(`== ${f}`);
  return spawnSync(process.execPath, ["--import", "tsx", join(__dirname, f)], { stdio: "inherit" }).status !== 0;
});
if (failed.length) {
  console.error(`bench: failed: ${failed.join(", ")}`);
  process.exit(1);
}
