{{ config(store_failures=true, severity='warn', tags=['financial_integrity']) }}

-- docs/reliability.md#financial-integrity: per user and asset, completed transactions in time order
-- form a chain: balance_after = balance_before + amount, and each row's balance_before equals the
-- previous row's balance_after; rows that share a timestamp are in chain order (the order in which
-- their balances link), never id order. The check is the model int_ledger_chain_breaks_detected (it
-- also feeds the critical data-quality alerts); this test returns its rows, each with its reason
-- and the row it should follow.
--
-- Severity warn: a broken ledger must not skip the AML detectors, the alert marts or the
-- regulatory reports built after it. The build still fails, once everything is built: the
-- on-run-end hook fail_on_financial_integrity_failures (macros/financial_integrity.sql).

select * from {{ ref('int_ledger_chain_breaks_detected') }}
