/**
 * A process's command at a time, from the store: its newest process_commands row before that time (it exec'd), else
 * its processes row (it never changed). One primary-key lookup per process; replay and export both read it here.
 */

/**
 * `LEFT JOIN process_commands pc` on the row that held for process `processId` (an SQL expression) just before
 * `before` (an SQL expression: a bucket's end). pc's columns are NULL when the process never changed.
 */
export function commandJoinSql(processId: string, before: string): string {
  return `LEFT JOIN process_commands pc ON pc.process_id = ${processId}
            AND pc.since = (SELECT max(since) FROM process_commands WHERE process_id = ${processId} AND since < ${before})`;
}
