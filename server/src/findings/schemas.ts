/** Wire shapes of the findings routes: defined once in shared (`shared/src/findings-schema.ts`). */
export {
  FINDING_STATUSES,
  acceptFindingBody,
  findingAcceptance,
  findingResponse,
  findingsQuery,
  findingsResponse,
  findingView,
  type AcceptFindingBody,
  type FindingsQuery,
  type FindingsResponse,
  type FindingView,
} from '@accesslens/shared';
