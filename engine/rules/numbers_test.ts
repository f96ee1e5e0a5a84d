import assert from "node:assert/strict";
import { type NumberRules, partyNumber } from "./numbers.ts";

Deno.test("partyNumber answers for the numbering it is given, though it remembers answers", () => {
  const korea: NumberRules = { extensionPattern: /^(\d{4})$/, countryCode: "82", trunkPrefix: "0" };
  const other: NumberRules = { extensionPattern: /^(\d{3})$/, countryCode: null, trunkPrefix: "0" };
  for (let round = 0; round < 2; round++) {
    assert.equal(partyNumber("1427", korea), "1427");
    assert.equal(partyNumber("+821077141436", korea), "01077141436");
    assert.equal(partyNumber("+821077141436", other), "+821077141436");
    assert.equal(partyNumber("1427", other), "1427");
    assert.equal(partyNumber("142", other), "142");
    assert.equal(partyNumber("", korea), null);
    assert.equal(partyNumber(null, korea), null);
  }
});

Deno.test("partyNumber stays right past the number of answers it keeps", () => {
  const rules: NumberRules = { extensionPattern: /^(\d{4})$/, countryCode: "82", trunkPrefix: "0" };
  for (let i = 0; i < 10_000; i++) {
    const user = `+82 10-${String(i).padStart(4, "0")}-0000`;
    assert.equal(partyNumber(user, rules), `010${String(i).padStart(4, "0")}0000`);
  }
  assert.equal(partyNumber("1001", rules), "1001");
});
