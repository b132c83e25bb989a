/**
 * One file to POST /api/v1/tracks as the raw body, with upload progress (fetch cannot report
 * bytes sent; XMLHttpRequest can). The token and the one refresh on `token_expired` are the
 * API client's (src/lib/api.ts).
 */
import { API, ApiError, getAccessToken, refreshSession, type Problem } from "@/lib/api";
import { reportAnswer, reportNoAnswer } from "@/lib/connection";

export interface Accepted {
  id: string;
  status: "queued";
  status_url: string;
}

export interface UploadOptions {
  onProgress: (sent: number, total: number) => void;
  signal?: AbortSignal;
}

function problemOf(xhr: XMLHttpRequest): ApiError {
  let problem: Problem;
  try {
    problem = JSON.parse(xhr.responseText) as Problem;
    if (typeof problem !== "object" || problem === null || !("status" in problem)) throw new Error();
  } catch {
    problem = {
      type: "about:blank",
      title: xhr.statusText || "Error",
      status: xhr.status,
      detail: xhr.status ? `the server answered ${xhr.status}` : "the connection was lost",
      code: xhr.status ? "http_error" : "network_error",
    };
  }
  return new ApiError({ ...problem, status: problem.status ?? xhr.status });
}

function send(file: File, { onProgress, signal }: UploadOptions): Promise<Accepted> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${API}/tracks?filename=${encodeURIComponent(file.name)}`);
    const token = getAccessToken();
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      reportAnswer();
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(file.size, file.size);
        resolve(JSON.parse(xhr.responseText) as Accepted);
      } else {
        reject(problemOf(xhr));
      }
    };
    xhr.onerror = () => {
      reportNoAnswer(); // the banner says why, beside the file's own line
      reject(problemOf(xhr));
    };
    xhr.onabort = () => reject(new DOMException("aborted", "AbortError"));
    signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(file);
  });
}

export async function uploadFile(file: File, options: UploadOptions): Promise<Accepted> {
  try {
    return await send(file, options);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401 && error.code === "token_expired" && (await refreshSession())) {
      options.onProgress(0, file.size);
      return send(file, options);
    }
    throw error;
  }
}
