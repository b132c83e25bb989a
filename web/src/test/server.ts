/** The API in component tests: msw answers fetch as the real API would, per test. */
import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";

export const server = setupServer();

export function problem(status: number, code: string, detail = code, errors?: { field: string; message: string }[]) {
  return HttpResponse.json(
    { type: "about:blank", title: code, status, detail, code, ...(errors ? { errors } : {}) },
    { status, headers: { "Content-Type": "application/problem+json" } },
  );
}

export { http, HttpResponse };
