-- One row per monthly first-trade cohort (calendar month of the user's first fill) and month
-- since: period 0 is the cohort's own month, then every month up to the month of the last day
-- of data, zero-filled. active_share = cohort users with a fill in that month / cohort size.

{{ lifecycle_cohort_table('month') }}
