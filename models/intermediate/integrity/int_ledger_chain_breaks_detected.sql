-- One row per completed transaction that breaks its ledger's balance chain
-- (docs/reliability.md#financial-integrity): per user and asset, completed rows in time order
-- chain, balance_after = balance_before + amount and each row's balance_before is the previous
-- row's balance_after. Pending and failed rows move no balance and are left out. Empty on a sound
-- ledger.
--
-- Rows that share a timestamp (a trade leg and its fee, booked in one instant) are in chain
-- order, the order in which their balances link, never id order. Chain order is found set-based,
-- without ordering the tie: within a tie group (one ledger, one created_at) every balance is a
-- point the chain passes, each row a step from its balance_before to its balance_after. The rows
-- form one chain from the previous group's end exactly when every balance is left as often as it
-- is reached (counting the previous group's end as reached once, the group's end as left once),
-- and a zero-amount row sits on a balance another row of the group or the previous end touches.
-- So a row breaks the chain when the balance it starts from is left more often than it is reached
-- (nothing hands it that balance) or the balance it ends on is reached more often than it is left
-- (nothing takes it up and it is not the group's end). Duplicates count as often as they occur.
-- Not caught: rows of one instant that form a closed loop of their own (amounts summing to zero)
-- on balances the chain never passes, and the start of a tie group after two tie groups in a row
-- that each sum to zero (their end is then unknown and the start is not checked).
--
-- With var test_days (a daily run: macros/test_window.sql) only the rows of the test window are
-- checked, each ledger's first group against the last group before the window, whose rows are
-- read as context.

{% set windowed = var('test_days', none) %}
{% set tolerance = var('integrity_balance_tolerance') %}
{% set ledger_order = 'partition by ledger_number order by created_at' %}
{% set tie_group = ['ledger_number', 'created_at'] %}
{% set row_columns = ['row_key', 'amount', 'balance_before', 'balance_after', 'created_at'] %}

with

-- Each row carries a 64-bit key of its id (row_key) through the sort below, in place of its id
-- and type: two strings the sort would move for every row of the ledger, to name the few that
-- break (docs/reliability.md#scale-and-speed: at `large` the model took 77 and 90 s against 130
-- and 126 s; BigQuery keeps the id, macros/cross_database.sql). The failing rows get their id
-- and type back at the end.
completed as {{ not_materialized() }} (

    select
        {{ row_key('transaction_id') }} as row_key,
        user_id,
        asset,
        amount,
        balance_before,
        balance_after,
        created_at
    from {{ ref('stg_exchange__transactions') }}
    where status = 'completed'

),

-- the rows checked: every completed row, or with test_days those of the test window
checked_rows as {{ not_materialized() }} (

    select
        *,
        false as is_context
    from completed
    {% if windowed %}
    where {{ test_window_filter('created_at', ref('stg_exchange__transactions')) }}
    {% endif %}

),

-- Each checked ledger (user and asset) numbered once. The sort below partitions by that
-- integer, not by the two strings, and carries neither (docs/reliability.md#scale-and-speed:
-- at `large` 80 s for the sort and filter by the strings, 55 s by the number, its lookup
-- included). Numbers mean nothing across runs; the failures get user and asset back at the end.
ledgers as {{ materialized_once() }} (

    select
        user_id,
        asset,
        row_number() over () as ledger_number
    from (
        select distinct
            user_id,
            asset
        from checked_rows
    ) as checked_ledgers

),

{% if windowed %}
-- each window ledger's last timestamp before the window: its rows (one, or a tie group) are
-- what the window's first row links to
ledger_ends as (

    select
        completed.user_id,
        completed.asset,
        ledgers.ledger_number,
        max(completed.created_at) as last_created_at
    from completed
    inner join ledgers
        on completed.user_id = ledgers.user_id
        and completed.asset = ledgers.asset
    where not ({{ test_window_filter('created_at', ref('stg_exchange__transactions'), 'completed') }})
    group by completed.user_id, completed.asset, ledgers.ledger_number

),
{% endif %}

transactions as (

    select
        {% for column in row_columns %}checked_rows.{{ column }},
        {% endfor -%}
        ledgers.ledger_number,
        checked_rows.is_context
    from checked_rows
    inner join ledgers
        on checked_rows.user_id = ledgers.user_id
        and checked_rows.asset = ledgers.asset
    {% if windowed %}

    union all

    select
        {% for column in row_columns %}completed.{{ column }},
        {% endfor -%}
        ledger_ends.ledger_number,
        true as is_context
    from completed
    inner join ledger_ends
        on completed.user_id = ledger_ends.user_id
        and completed.asset = ledger_ends.asset
        and completed.created_at = ledger_ends.last_created_at
    {% endif %}

),

-- One sort of each ledger by time: each row's neighbours tell whether it shares its timestamp,
-- and whether the row before it does. Rows of one timestamp come in no set order (a tie-break by
-- id cost 17 s of the 76 s sort at `large`): everything read from a neighbour below is the same
-- in any order, except inside a tie group, whose rows are checked set-based.
ordered as (

    select
        *,
        lag(created_at) over ({{ ledger_order }}) as previous_created_at,
        lag(created_at, 2) over ({{ ledger_order }}) as second_previous_created_at,
        lag(row_key) over ({{ ledger_order }}) as previous_row_key,
        lag(balance_after) over ({{ ledger_order }}) as previous_row_balance_after,
        lead(created_at) over ({{ ledger_order }}) as next_created_at
    from transactions

),

flagged as (

    select
        *,
        coalesce(previous_created_at = created_at, false)
        or coalesce(next_created_at = created_at, false) as is_tied,
        -- the row before this one shares its own timestamp with the row before it
        coalesce(second_previous_created_at = previous_created_at, false) as is_previous_tied,
        (previous_created_at is null or previous_created_at <> created_at) as is_group_first
    from ordered

),

-- The rows the checks below need: tied rows, rows after a tie, and rows that break the chain
-- with the row before them. One pass over the ledger keeps them; the rest of the work is on
-- this small set, computed once (read several times below: inlined, DuckDB would store the
-- whole sorted ledger instead; 20M rows: 58 s against 122 s).
candidates as {{ materialized_once() }} (

    select *
    from flagged
    where is_tied
        or is_previous_tied
        or abs(balance_after - (balance_before + amount)) > {{ tolerance }}
        or abs(balance_before - previous_row_balance_after) > {{ tolerance }}

),

tie_rows as (

    select * from candidates
    where is_tied

),

-- how often each balance of a tie group is left (a row's balance_before) and reached (a row's
-- balance_after); zero_amount_steps: zero-amount rows sitting on it
tie_balances as (

    select
        {{ tie_group | join(', ') }},
        balance,
        sum(leaves) as leaves,
        sum(reaches) as reaches,
        sum(zero_amount_steps) as zero_amount_steps
    from (
        select
            {{ tie_group | join(', ') }},
            balance_before as balance,
            1 as leaves,
            0 as reaches,
            case when amount = 0 then 1 else 0 end as zero_amount_steps
        from tie_rows
        union all
        select
            {{ tie_group | join(', ') }},
            balance_after as balance,
            0 as leaves,
            1 as reaches,
            0 as zero_amount_steps
        from tie_rows
    ) as steps
    group by {{ tie_group | join(', ') }}, balance

),

tie_rows_linked as (

    select
        tie_rows.*,
        starts.leaves as start_leaves,
        starts.reaches as start_reaches,
        -- a zero-amount row's balance touched by some other, non-zero row of the group
        starts.leaves + starts.reaches > 2 * starts.zero_amount_steps as is_start_touched,
        ends.leaves as end_leaves,
        ends.reaches as end_reaches
    from tie_rows
    inner join tie_balances as starts
        on tie_rows.ledger_number = starts.ledger_number
        and tie_rows.created_at = starts.created_at
        and tie_rows.balance_before = starts.balance
    inner join tie_balances as ends
        on tie_rows.ledger_number = ends.ledger_number
        and tie_rows.created_at = ends.created_at
        and tie_rows.balance_after = ends.balance

),

-- One row per tie group. Its own start and end, from its rows alone: the one balance left once
-- more than it is reached, and the one reached once more than it is left (none when the group
-- sums to zero, or when its rows do not link).
tie_groups as (

    select
        {{ tie_group | join(', ') }},
        count(*) as tied_row_count,
        sum(amount) as amount_total,
        max(case when is_context then 1 else 0 end) as is_context_group,
        max(case when is_group_first then previous_created_at end) as previous_created_at,
        max(case when is_group_first and is_previous_tied then 1 else 0 end) as is_previous_tied,
        max(case when is_group_first then previous_row_key end) as previous_row_key,
        max(case when is_group_first then previous_row_balance_after end) as previous_row_balance_after,
        count(distinct case when start_leaves > start_reaches then balance_before end) as start_balance_count,
        max(start_leaves - start_reaches) as max_start_surplus,
        max(case when start_leaves - start_reaches = 1 then balance_before end) as own_start_balance,
        count(distinct case when end_reaches > end_leaves then balance_after end) as end_balance_count,
        max(end_reaches - end_leaves) as max_end_surplus,
        max(case when end_reaches - end_leaves = 1 then balance_after end) as own_end_balance,
        max(case when end_reaches - end_leaves = 1 then row_key end) as own_end_row_key,
        -- the row reported as the one before the next group when this group's end is unknown
        max(row_key) as last_row_key
    from tie_rows_linked
    group by {{ tie_group | join(', ') }}

),

tie_group_ends as (

    select
        {{ tie_group | join(', ') }},
        tied_row_count,
        amount_total,
        is_context_group,
        previous_created_at,
        is_previous_tied,
        previous_row_key,
        previous_row_balance_after,
        start_balance_count,
        case when end_balance_count = 1 and max_end_surplus = 1 then own_end_balance end as own_end_balance,
        case when end_balance_count = 1 and max_end_surplus = 1 then own_end_row_key end as own_end_row_key,
        last_row_key,
        -- The group's start as far as the row before it tells (a tie group before it: below);
        -- a ledger's first group (or the context before a test window) starts where its rows do.
        case
            when previous_created_at is null
                then case when start_balance_count = 1 and max_start_surplus = 1 then own_start_balance end
            when is_previous_tied = 0 then previous_row_balance_after
        end as start_after_single_row
    from tie_groups

),

-- Each tie group's start: the end of the group before it. That is the row before it, or a tie
-- group's own end, or (a tie group summing to zero) that group's start plus its amounts; a
-- ledger's first group starts at its own start.
tie_groups_chained as (

    select
        current_groups.*,
        case
            when current_groups.is_previous_tied = 0 then current_groups.previous_row_key
            else coalesce(previous_groups.own_end_row_key, previous_groups.last_row_key)
        end as chain_previous_key,
        case
            when current_groups.is_previous_tied = 0 then current_groups.start_after_single_row
            else coalesce(
                    previous_groups.own_end_balance,
                    previous_groups.start_after_single_row + previous_groups.amount_total
                )
        end as chain_start_balance
    from tie_group_ends as current_groups
    left join tie_group_ends as previous_groups
        on current_groups.ledger_number = previous_groups.ledger_number
        and current_groups.previous_created_at = previous_groups.created_at

),

tie_groups_bounded as (

    select
        *,
        chain_start_balance + amount_total as chain_end_balance,
        -- the end the next row links to: the chain's, else the group's own
        coalesce(chain_start_balance + amount_total, own_end_balance) as group_end_balance,
        coalesce(own_end_row_key, chain_previous_key) as group_end_row_key
    from tie_groups_chained

),

tie_rows_checked as (

    select
        tie_rows_linked.row_key,
        tie_rows_linked.ledger_number,
        tie_rows_linked.amount,
        tie_rows_linked.balance_before,
        tie_rows_linked.balance_after,
        tie_rows_linked.created_at,
        tie_rows_linked.is_context,
        current_groups.tied_row_count,
        current_groups.chain_previous_key as previous_row_key,
        current_groups.chain_start_balance as previous_balance_after,
        case
            when current_groups.chain_start_balance is null then 0
            when abs(tie_rows_linked.balance_before - current_groups.chain_start_balance) <= {{ tolerance }} then 1
            else 0
        end as starts_at_chain_start,
        max(
            case
                when current_groups.chain_start_balance is null then 1
                when abs(tie_rows_linked.balance_before - current_groups.chain_start_balance) <= {{ tolerance }} then 1
                else 0
            end
        ) over (partition by tie_rows_linked.ledger_number, tie_rows_linked.created_at)
            as group_leaves_chain_start,
        case
            when current_groups.chain_end_balance is null then 0
            when abs(tie_rows_linked.balance_after - current_groups.chain_end_balance) <= {{ tolerance }} then 1
            else 0
        end as ends_at_chain_end,
        -- Without a known start (after tie groups that sum to zero), one balance may be left
        -- and one reached once more than the others: the group's unknown start and end.
        case
            when current_groups.chain_start_balance is null and current_groups.start_balance_count <= 1 then 1 else 0
        end
            as unknown_bound_allowance,
        tie_rows_linked.start_leaves,
        tie_rows_linked.start_reaches,
        tie_rows_linked.is_start_touched,
        tie_rows_linked.end_leaves,
        tie_rows_linked.end_reaches
    from tie_rows_linked
    inner join tie_groups_bounded as current_groups
        on tie_rows_linked.ledger_number = current_groups.ledger_number
        and tie_rows_linked.created_at = current_groups.created_at

),

tie_failures as (

    select
        row_key,
        ledger_number,
        amount,
        balance_before,
        balance_after,
        created_at,
        is_context,
        tied_row_count,
        previous_row_key,
        previous_balance_after,
        case
            when abs(balance_after - (balance_before + amount)) > {{ tolerance }}
                then 'balance_after differs from balance_before + amount'
            when group_leaves_chain_start = 0
                then 'no row of its timestamp starts from the previous balance_after'
            when start_leaves > start_reaches + starts_at_chain_start + unknown_bound_allowance
                or (amount = 0 and not is_start_touched and starts_at_chain_start = 0)
                -- One message, one line: the text is the reason readers match on.
                then 'balance_before is neither the previous balance_after nor the balance_after of a row of its timestamp' -- noqa: LT05
            when end_reaches > end_leaves + ends_at_chain_end + unknown_bound_allowance
                then 'balance_after is neither the chain end nor the balance_before of a row of its timestamp'
        end as failure_reason
    from tie_rows_checked

),

single_rows as (

    select * from candidates
    where not is_tied

),

single_failures as (

    select
        single_rows.row_key,
        single_rows.ledger_number,
        single_rows.amount,
        single_rows.balance_before,
        single_rows.balance_after,
        single_rows.created_at,
        single_rows.is_context,
        1 as tied_row_count,
        case
            when single_rows.is_previous_tied then previous_groups.group_end_row_key
            else single_rows.previous_row_key
        end as previous_row_key,
        case
            when single_rows.is_previous_tied then previous_groups.group_end_balance
            else single_rows.previous_row_balance_after
        end as previous_balance_after
    from single_rows
    left join tie_groups_bounded as previous_groups
        on single_rows.is_previous_tied
        and single_rows.ledger_number = previous_groups.ledger_number
        and single_rows.previous_created_at = previous_groups.created_at

),

single_failures_reasoned as (

    select
        *,
        case
            when abs(balance_after - (balance_before + amount)) > {{ tolerance }}
                then 'balance_after differs from balance_before + amount'
            when previous_balance_after is not null
                and abs(balance_before - previous_balance_after) > {{ tolerance }}
                then 'balance_before differs from the previous balance_after'
        end as failure_reason
    from single_failures

),

final as (

    select * from single_failures_reasoned
    where failure_reason is not null and not is_context

    union all

    select * from tie_failures
    where failure_reason is not null and not is_context

),

-- The ids and types back, for the failing rows' ledgers only: the sort above carries a 64-bit
-- key of each id, not the id and type (strings; docs/reliability.md#scale-and-speed). A row is
-- found again by its ledger, time, values and key: two rows that agree on all of them are alike
-- in every check, and each is reported once. The row before is found by its ledger and key,
-- the largest id where two ids of one ledger share a key.
failing_ledger_rows as (

    select
        ledgers.ledger_number,
        completed_rows.transaction_id,
        completed_rows.transaction_type,
        completed_rows.amount,
        completed_rows.balance_before,
        completed_rows.balance_after,
        completed_rows.created_at,
        {{ row_key('completed_rows.transaction_id') }} as row_key
    from {{ ref('stg_exchange__transactions') }} as completed_rows
    inner join ledgers
        on completed_rows.user_id = ledgers.user_id
        and completed_rows.asset = ledgers.asset
    where completed_rows.status = 'completed'
        and ledgers.ledger_number in (select final.ledger_number from final)

),

-- the row before: the largest id where two ids of one ledger share a key
previous_ids as (

    select
        ledger_number,
        row_key,
        max(transaction_id) as transaction_id
    from failing_ledger_rows
    group by ledger_number, row_key

)

-- distinct: two rows alike in every value and key are each joined to both ids
select distinct
    failing_rows.transaction_id,
    ledgers.user_id,
    ledgers.asset,
    failing_rows.transaction_type,
    final.amount,
    final.balance_before,
    final.balance_after,
    final.created_at,
    final.tied_row_count,
    previous_ids.transaction_id as previous_transaction_id,
    final.previous_balance_after,
    final.failure_reason
from final
inner join ledgers
    on final.ledger_number = ledgers.ledger_number
inner join failing_ledger_rows as failing_rows
    on final.ledger_number = failing_rows.ledger_number
    and final.row_key = failing_rows.row_key
    and final.created_at = failing_rows.created_at
    and final.amount = failing_rows.amount
    and final.balance_before = failing_rows.balance_before
    and final.balance_after = failing_rows.balance_after
left join previous_ids
    on final.ledger_number = previous_ids.ledger_number
    and final.previous_row_key = previous_ids.row_key
