import assert from "node:assert/strict";
import { TEXT_OUTPUT_BUFFER_CHARS, TextOutput } from "./text_output.ts";

Deno.test("text output: a line reaches the file once the current batch of work is done", async () => {
  const path = await Deno.makeTempFile();
  try {
    const out = TextOutput.open(path);
    out.write("first\n");
    assert.equal(Deno.readTextFileSync(path), "", "written before the batch ended");
    await null; // the batch ends: the queued flush runs
    assert.equal(await Deno.readTextFile(path), "first\n");
    out.write("second\n");
    out.close();
    assert.equal(await Deno.readTextFile(path), "first\nsecond\n");
    out.write("after close\n");
    await null;
    assert.equal(await Deno.readTextFile(path), "first\nsecond\n");
    assert.equal(out.bytesWritten, 13);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("text output: a full buffer is written at once; UTF-8; append keeps what was there", async () => {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(path, "old\n");
    const out = TextOutput.open(path, { append: true });
    const line = "통화 기록 ".repeat(100) + "\n";
    let written = 0;
    while (written < TEXT_OUTPUT_BUFFER_CHARS) {
      out.write(line);
      written += line.length;
    }
    const size = (await Deno.stat(path)).size;
    assert.ok(size > 4 + TEXT_OUTPUT_BUFFER_CHARS, `only ${size} bytes before the batch ended`);
    out.close();
    const text = await Deno.readTextFile(path);
    assert.ok(text.startsWith("old\n통화 기록 "));
    assert.equal(text.length, 4 + Math.ceil(TEXT_OUTPUT_BUFFER_CHARS / line.length) * line.length);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test({
  name: "text output: a failing target is reported once, then output is dropped",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const errors: unknown[] = [];
    const out = TextOutput.open("/dev/full", { onError: (e) => errors.push(e) });
    out.write("x".repeat(100));
    await null;
    out.write("more");
    await null;
    out.close();
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /space/i);
  },
});
