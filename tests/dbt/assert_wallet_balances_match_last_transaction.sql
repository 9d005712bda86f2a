{{ config(store_failures=true, severity='warn', tags=['financial_integrity']) }}

-- docs/reliability.md#financial-integrity: a wallet's balance equals the end of its ledger's chain
-- up to the wallet's updated_at: the balance_after of the last completed transaction of its user
-- and asset (the chain order's last of rows that share that timestamp). A wallet without any
-- transaction must hold nothing. The check is the model int_wallet_balance_mismatches_detected (it
-- also feeds the critical data-quality alerts); this test returns the wallets that disagree.
--
-- Severity warn, and the build fails at its end: see assert_transaction_balance_chains_hold.

select * from {{ ref('int_wallet_balance_mismatches_detected') }}
