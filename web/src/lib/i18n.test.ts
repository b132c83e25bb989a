import { expect, test } from "vitest";

const files = import.meta.glob<Record<string, unknown>>(["/src/locales/*.json", "/src/features/*/locales/*.json"], {
  eager: true,
  import: "default",
});

/** Every key of a strings file, plural forms folded into their base key. */
function keys(strings: Record<string, unknown>, prefix = ""): string[] {
  return Object.entries(strings).flatMap(([key, value]) =>
    value && typeof value === "object"
      ? keys(value as Record<string, unknown>, `${prefix}${key}.`)
      : [`${prefix}${key.replace(/_(zero|one|two|few|many|other)$/, "")}`],
  );
}

const byFolder = new Map<string, Record<string, Record<string, unknown>>>();
for (const [path, strings] of Object.entries(files)) {
  const folder = path.replace(/\/(en|fr)\.json$/, "");
  const lang = path.endsWith("/fr.json") ? "fr" : "en";
  byFolder.set(folder, { ...byFolder.get(folder), [lang]: strings });
}

test.each([...byFolder.keys()])("%s: French has every English string and no other", (folder) => {
  const { en, fr } = byFolder.get(folder)!;
  expect(fr, `${folder}/fr.json is missing`).toBeDefined();
  expect(en, `${folder}/en.json is missing`).toBeDefined();
  const english = new Set(keys(en!));
  const french = new Set(keys(fr!));
  expect([...english].filter((k) => !french.has(k)), "missing in French").toEqual([]);
  expect([...french].filter((k) => !english.has(k) && !k.startsWith("note.")), "only in French").toEqual([]);
});
