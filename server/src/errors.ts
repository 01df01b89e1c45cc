import { serverErrorMessage, type ApiError, type ServerErrorParams, type ServerErrorReason } from '@accesslens/shared';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export type ErrorBody = ApiError['error'];

/** Which failure exactly, with its parameters: clients render these in their language (server-errors.ts). */
export interface ErrorDetail {
  reason: ServerErrorReason;
  params: ServerErrorParams;
}

/** A failure with a known status and code; thrown from handlers and turned into the API error shape. */
export class ApiFailure extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
    readonly detail?: ErrorDetail,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }

  /** A failure whose message is the reason's English sentence (`SERVER_ERRORS`), sent with the reason and params. */
  static of(
    status: ContentfulStatusCode,
    code: string,
    reason: ServerErrorReason,
    params: ServerErrorParams = {},
    options: { field?: string; headers?: Record<string, string> } = {},
  ): ApiFailure {
    return new ApiFailure(status, code, serverErrorMessage(reason, params), options.field, options.headers, { reason, params });
  }

  /** The same failure about another field. */
  withField(field: string): ApiFailure {
    return new ApiFailure(this.status, this.code, this.message, field, this.headers, this.detail);
  }

  get body(): { error: ErrorBody } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.field ? { field: this.field } : {}),
        ...(this.detail ? { reason: this.detail.reason, ...(Object.keys(this.detail.params).length > 0 ? { params: this.detail.params } : {}) } : {}),
      },
    };
  }
}

export const unauthenticated = (message = 'Sign in to continue.') => new ApiFailure(401, 'unauthenticated', message);

/**
 * The coarse codes' failures with a reason (`SERVER_ERRORS`) and its params. There is no way to throw these
 * codes with an English sentence alone: a client could not say it in its reader's language.
 */
export const refuse = {
  unauthenticated: (reason: ServerErrorReason, params?: ServerErrorParams) => ApiFailure.of(401, 'unauthenticated', reason, params),
  forbidden: (reason: ServerErrorReason, params?: ServerErrorParams) => ApiFailure.of(403, 'forbidden', reason, params),
  notFound: (reason: ServerErrorReason, params?: ServerErrorParams) => ApiFailure.of(404, 'not_found', reason, params),
  conflict: (reason: ServerErrorReason, params?: ServerErrorParams) => ApiFailure.of(409, 'conflict', reason, params),
};
