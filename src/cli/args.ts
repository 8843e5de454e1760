import { z } from "zod";
import { durationField } from "../config/fields.js";
import type { StatusOrNew } from "../lifecycle/transitions.js";
import { repoRefSchema, statusOrNewSchema, type RepoRef } from "../read-model/environment-filter.js";
import { UsageError } from "./command.js";

/**
 * Command-line arguments, validated with zod like every other boundary; a
 * bad one is a usage error (exit 2) that names it.
 */

const prSchema = z.string().regex(/^[1-9]\d{0,9}$/, { error: (issue) => `${JSON.stringify(issue.input)} is not a pull request number` }).transform(Number);

function parse<S extends z.ZodType>(schema: S, text: string, what: string): z.output<S> {
  const result = schema.safeParse(text);
  if (result.success) return result.data;
  throw new UsageError(`${what}: ${result.error.issues[0]?.message ?? "is not valid"}`);
}

export const repoArg = (text: string): RepoRef => parse(repoRefSchema, text, "repository");
export const prArg = (text: string): number => parse(prSchema, text, "pull request");
export const durationArg = (text: string, what = "duration"): number => parse(durationField, text, what);
export const statusArg = (text: string): StatusOrNew => parse(statusOrNewSchema, text, "--status");

/** How a repository argument reads back in a message. */
export function describeRepo(repo: RepoRef): string {
  return "id" in repo ? `repository id ${repo.id}` : repo.name;
}
