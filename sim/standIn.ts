// Where the vLLM stand-in lives: `sim/bin/vllm`, runnable from any directory or network namespace.
import * as path from "node:path";

export const STAND_IN = path.join(__dirname, "bin", "vllm");
