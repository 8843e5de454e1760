import { describe, expect, it } from "vitest";
import { withoutCredentials } from "../../src/lifecycle/without-credentials.js";

describe("withoutCredentials", () => {
  it("strips user and password from a URL, leaving the rest as written", () => {
    expect(withoutCredentials("https://user:s3cret@preview.example.com/app?x=1#top")).toBe("https://preview.example.com/app?x=1#top");
    expect(withoutCredentials("https://token@preview.example.com")).toBe("https://preview.example.com");
    expect(withoutCredentials("postgres://app:pw@db.internal:5432/pr_42")).toBe("postgres://db.internal:5432/pr_42");
  });

  it("strips up to the last @ of the authority, as a URL parser reads it", () => {
    expect(withoutCredentials("https://a@b:c@d@host.example/x@y")).toBe("https://host.example/x@y");
  });

  it("strips credentials only a URL parser would find, and those in text that is no URL", () => {
    expect(withoutCredentials("http:user:pw@host.example/")).toBe("http://host.example/");
    expect(withoutCredentials("https:\\\\user:pw@host.example\\")).not.toContain("pw");
    expect(withoutCredentials("see https://u:pw@ho st/ and ftp://x:y@z/")).toBe("see https://ho st/ and ftp://z/");
  });

  it("leaves URLs without credentials, and an @ outside the authority, untouched", () => {
    for (const url of ["https://preview.example.com", "https://host/path?mail=a@b.c", "mailto:a@b.c", "not a url", ""]) {
      expect(withoutCredentials(url)).toBe(url);
    }
  });
});
