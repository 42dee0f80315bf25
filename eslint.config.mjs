// Lint rules for the TypeScript sources: typescript-eslint's recommended set, plus what the house style asks for.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", ".tools/", ".venv-router/", ".venv-hf/", ".cache/", ".gaudi-pd/", "tools/pulumi/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      // The compiler's noUnusedLocals/noUnusedParameters already refuse these; `_name` marks a deliberate one.
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      // Loaders of optional or CommonJS-only modules (@pulumi/pulumi's generated gRPC stubs) need require().
      "@typescript-eslint/no-require-imports": "off",
      // Input checks match control characters on purpose, to refuse them.
      "no-control-regex": "off",
      eqeqeq: ["error", "always", { null: "ignore" }],
      "prefer-const": "error",
      "no-var": "error",
    },
  },
  {
    // Policies read Pulumi's untyped resource property bags, and the served-pack test drives generated gRPC stubs.
    files: ["policy/**/*.ts", "test/helpers/policyHarness.ts", "test/policy-*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off", "@typescript-eslint/no-unsafe-function-type": "off" },
  },
  {
    // These tests reach into untyped stack-config trees (YAML as parsed) to plant one bad value at a time.
    files: ["test/trust-boundary*.test.ts", "test/e2e-engine.system.test.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    languageOptions: { globals: { require: "readonly", module: "writable", __dirname: "readonly", process: "readonly", console: "readonly" } },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
