export * from './permissions.ts';
export * from './schemas.ts';
export * from './effective.ts';
export * from './slice.ts';
export * from './page-decision.ts';
export * from './messages.ts';
export * from './denial.ts';
export * from './crm/salesforce.ts';
