#!/usr/bin/env node
// The `gaudi-pd` executable: loads the TypeScript CLI through tsx, so no build step stands between checkout and use.
require("tsx/cjs/api").register();
require("./main.ts");
