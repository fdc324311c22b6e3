/**
 * zod's issues as "field: reason" in Tollgate's words: a missing field "is required" (zod says
 * "Invalid input: expected string, received undefined"), each unknown field is named on its own.
 */
import type { z } from 'zod';

export interface FieldProblem {
  path: PropertyKey[];
  reason: string;
}

/** Whether `input` holds a value other than undefined at `path`. */
function present(input: unknown, path: PropertyKey[]): boolean {
  let at = input;
  for (const key of path) {
    if (at === null || typeof at !== 'object') return false;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at !== undefined;
}

/**
 * The problems of `input` that `error` (from parsing it) found. zod leaves the offending value out of
 * its issues, so whether a field is missing is read from `input` itself.
 */
export function fieldProblems(
  error: z.ZodError,
  input: unknown,
  unknownField = 'is not a known field',
): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: [...issue.path, key], reason: unknownField });
    } else if (issue.code === 'invalid_type' && !present(input, issue.path)) {
      out.push({ path: issue.path, reason: 'is required' });
    } else {
      out.push({ path: issue.path, reason: issue.message });
    }
  }
  return out;
}

/** "scope.org_id" for a problem's path, "(root)" for the document itself. */
export function fieldName(problem: FieldProblem): string {
  return problem.path.map(String).join('.') || '(root)';
}
