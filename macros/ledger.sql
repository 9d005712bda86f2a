{#- The end of each group's rows of one timestamp in a ledger (docs/reliability.md#financial-integrity):
    `rows` holds, per group (`group_columns`: a ledger, or a wallet version), the completed rows of
    its last timestamp, with transaction_id, balance_before and balance_after. Rows that share a
    timestamp (a trade leg and its fee, booked in one instant) are in chain order, not id order:
    the end is the row whose balance_after no other row of the group starts from, the one balance
    reached once more than it is left (int_ledger_chain_breaks_detected explains the counting).
    Where the chain singles out no end (rows that do not link; rows summing to zero,
    end_balance_count 0), the last row by id stands in; a single row is its own end. One row per group: end_balance_count,
    end_transaction_id and end_balance_after. Read by int_wallet_balance_mismatches_detected and
    int_ledger_end_balances. -#}
{% macro ledger_timestamp_ends(rows, group_columns) -%}
    {%- set group_key = group_columns | join(', ') -%}
    with

    -- how often each balance of a group is left (a row's balance_before) and reached (a row's
    -- balance_after)
    balance_steps as (

        select
            {{ group_key }},
            balance,
            sum(leaves) as leaves,
            sum(reaches) as reaches
        from (
            select
                {{ group_key }},
                balance_before as balance,
                1 as leaves,
                0 as reaches
            from {{ rows }}
            union all
            select
                {{ group_key }},
                balance_after as balance,
                0 as leaves,
                1 as reaches
            from {{ rows }}
        ) as steps
        group by {{ group_key }}, balance

    ),

    group_ends as (

        select
            {% for column in group_columns %}timestamp_rows.{{ column }},
            {% endfor -%}
            count(distinct case when balances.reaches - balances.leaves = 1 then timestamp_rows.balance_after end)
                as end_balance_count,
            max(case when balances.reaches - balances.leaves = 1 then timestamp_rows.transaction_id end)
                as chain_end_transaction_id,
            max(case when balances.reaches - balances.leaves = 1 then timestamp_rows.balance_after end)
                as chain_end_balance_after,
            {{ last_row('last_by_id', {
                'transaction_id': 'timestamp_rows.transaction_id',
                'balance_after': 'timestamp_rows.balance_after',
            }, ['timestamp_rows.transaction_id']) }}
        from {{ rows }} as timestamp_rows
        inner join balance_steps as balances
            on {% for column in group_columns %}timestamp_rows.{{ column }} = balances.{{ column }}
            and {% endfor -%}
            timestamp_rows.balance_after = balances.balance
        group by {% for column in group_columns %}timestamp_rows.{{ column }}{{ ', ' if not loop.last }}{% endfor %}

    )

    select
        {{ group_key }},
        end_balance_count,
        case
            when end_balance_count = 1 then chain_end_transaction_id
            else {{ last_row_value('last_by_id', 'transaction_id') }}
        end as end_transaction_id,
        case
            when end_balance_count = 1 then chain_end_balance_after
            else {{ last_row_value('last_by_id', 'balance_after') }}
        end as end_balance_after
    from group_ends
{%- endmacro %}
