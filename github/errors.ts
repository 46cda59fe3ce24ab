// Typed errors for GitHub's REST API and the Actions service. The service answers
// errors as `{typeName, message}`; the ones callers act on get their own class.
// Every error names the method, URL and status; none ever carries a token (tokens
// travel in headers, which errors never include).

/** Drops `user:password@` from a URL so a credential in a configured base URL never leaks. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

export class GitHubApiError extends Error {
  override name = 'GitHubApiError';
  readonly url: string;

  constructor(
    /** HTTP status; 0 when no response arrived (network failure). */
    readonly status: number,
    readonly method: string,
    url: string,
    /** The service's or GitHub's own message (never a request header). */
    readonly detail: string,
    /** The Actions service's exception type, e.g. `...AgentExistsException`. */
    readonly typeName?: string,
    options?: ErrorOptions,
  ) {
    const safeUrl = redactUrl(url);
    super(
      `${method} ${safeUrl} ${status === 0 ? 'failed' : `answered ${status}`}${typeName ? ` ${typeName}` : ''}: ${detail}`,
      options,
    );
    this.url = safeUrl;
  }
}

/** 404, or an empty lookup the caller asked for by name. */
export class NotFoundError extends GitHubApiError {
  override name = 'NotFoundError';
}

/** A runner with that name already exists (also what a retried, succeeded POST sees). */
export class RunnerExistsError extends GitHubApiError {
  override name = 'RunnerExistsError';
}

/** AgentNotFoundException: the runner is gone. A not-found, so never cached. */
export class RunnerNotFoundError extends NotFoundError {
  override name = 'RunnerNotFoundError';
}

/** The request never got an answer (connection refused, reset, DNS) after its retries. */
export class GitHubNetworkError extends GitHubApiError {
  override name = 'GitHubNetworkError';
}

/** Builds the right error from a failed response's status and body text. */
export function errorFromResponse(
  status: number,
  method: string,
  url: string,
  bodyText: string,
): GitHubApiError {
  let typeName: string | undefined;
  let message = bodyText.slice(0, 500) || '(empty body)';
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
  if (status === 404 || typeName?.includes('NotFoundException'))
    return new NotFoundError(status, method, url, message, typeName);
  return new GitHubApiError(status, method, url, message, typeName);
}
