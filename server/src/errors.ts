import type { ApiError } from '@accesslens/shared';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export type ErrorBody = ApiError['error'];

/** A failure with a known status and code; thrown from handlers and turned into the API error shape. */
export class ApiFailure extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiFailure';
  }

  get body(): { error: ErrorBody } {
    return { error: { code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) } };
  }
}

export const unauthenticated = (message = 'Sign in to continue.') => new ApiFailure(401, 'unauthenticated', message);
export const forbidden = (message: string) => new ApiFailure(403, 'forbidden', message);
export const notFound = (message: string) => new ApiFailure(404, 'not_found', message);
export const conflict = (message: string) => new ApiFailure(409, 'conflict', message);
