-- One row per weekly first-trade cohort (ISO week of the user's first fill, starting Monday)
-- and week since: period 0 is the cohort's own week, then every week up to the week of the
-- last day of data, zero-filled. active_share = cohort users with a fill in that week / cohort size.

{{ lifecycle_cohort_table('week') }}
