// Typed errors for GitHub's REST API and the Actions service. The service answers
// errors as `{typeName, message}`; the two that callers act on get their own class.

export class GitHubApiError extends Error {
  constructor(
    readonly status: number,
    readonly method: string,
    readonly url: string,
    message: string,
    readonly typeName?: string,
  ) {
    // The URL never carries a token (those travel in headers), so it is safe to show.
    super(`${method} ${url} answered ${status}${typeName ? ` ${typeName}` : ''}: ${message}`);
    this.name = 'GitHubApiError';
  }
}

/** A runner with that name already exists (also what a retried, succeeded POST sees). */
export class RunnerExistsError extends GitHubApiError {
  override name = 'RunnerExistsError';
}

export class RunnerNotFoundError extends GitHubApiError {
  override name = 'RunnerNotFoundError';
}

export class NotFoundError extends GitHubApiError {
  override name = 'NotFoundError';
}

/** Builds the right error from a failed response's status and body text. */
export function errorFromResponse(
  status: number,
  method: string,
  url: string,
  bodyText: string,
): GitHubApiError {
  let typeName: string | undefined;
  let message = bodyText.slice(0, 500);
  try {
    const body = JSON.parse(bodyText) as { typeName?: unknown; message?: unknown };
    if (typeof body.typeName === 'string') typeName = body.typeName;
    if (typeof body.message === 'string') message = body.message;
  } catch {
    // not JSON: keep the text
  }
  if (typeName?.includes('AgentExistsException'))
    return new RunnerExistsError(status, method, url, message, typeName);
  if (typeName?.includes('AgentNotFoundException'))
    return new RunnerNotFoundError(status, method, url, message, typeName);
  if (status === 404) return new NotFoundError(status, method, url, message, typeName);
  return new GitHubApiError(status, method, url, message, typeName);
}
