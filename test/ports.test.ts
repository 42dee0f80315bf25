// The test-port helper: blocks lie wholly outside the kernel's ephemeral range, whatever the range and the random draw.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import fc from "fast-check";
import { blockOutside, ephemeralRange, parseRange, windowsOutside } from "./helpers/ports";

test("the range file's text is read as low and high, and nonsense is refused", () => {
  assert.deepEqual(parseRange("32768\t60999\n"), { low: 32768, high: 60999 });
  assert.deepEqual(parseRange("1024 65535"), { low: 1024, high: 65535 });
  for (const bad of ["", "60999 32768", "abc def", "32768"]) assert.throws(() => parseRange(bad), /ip_local_port_range: cannot read/);
});

test("this machine's range is read, and the windows around it never touch it", () => {
  const range = ephemeralRange();
  for (const w of windowsOutside(range)) assert.ok(w.high < range.low || w.low > range.high, JSON.stringify({ range, w }));
});

test("every block of any span lies outside the range, at either end of the draw", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 10001, max: 65000 }),
      fc.integer({ min: 0, max: 20000 }),
      fc.integer({ min: 1, max: 8000 }),
      fc.double({ min: 0, max: 0.9999999, noNaN: true }),
      (low, width, span, r) => {
        const range = { low, high: Math.min(65535, low + width) };
        let base: number;
        try {
          base = blockOutside(range, span, () => r);
        } catch (e) {
          assert.match((e as Error).message, /^no \d+ consecutive ports outside the ephemeral range/);
          assert.ok(
            windowsOutside(range).every((w) => w.high - w.low + 1 < span),
            "refused although a window fits",
          );
          return;
        }
        const last = base + span - 1;
        assert.ok(base >= 10000 && last <= 65535, `${base}..${last}`);
        assert.ok(last < range.low || base > range.high, `${base}..${last} meets ${range.low}-${range.high}`);
      },
    ),
  );
});

test("both ends of the draw reach both windows", () => {
  const range = { low: 32768, high: 60999 };
  assert.equal(
    blockOutside(range, 100, () => 0),
    10000,
  );
  assert.equal(
    blockOutside(range, 100, () => 0.9999999),
    65436,
  );
});
