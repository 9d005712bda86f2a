-- BigQuery's NET functions for the emulator (scripts/bigquery_emulator_serve.py,
-- add_net_functions), created once per schema ({schema}: net and main). An address is a list
-- of its octets (IPv4) or of its eight 16-bit groups (IPv6) where BigQuery has BYTES.
create or replace macro {schema}.ip_hextets(s) as (
    case
        when s like '%::%' then
            (case when split_part(s, '::', 1) = '' then [] else string_split(split_part(s, '::', 1), ':') end)
            || list_transform(
                range(8 - len(case when split_part(s, '::', 1) = '' then [] else string_split(split_part(s, '::', 1), ':') end)
                        - len(case when split_part(s, '::', 2) = '' then [] else string_split(split_part(s, '::', 2), ':') end)),
                i -> '0')
            || (case when split_part(s, '::', 2) = '' then [] else string_split(split_part(s, '::', 2), ':') end)
        else string_split(s, ':')
    end
);
create or replace macro {schema}.safe_ip_from_string(s) as (
    case
        when regexp_full_match(s, '(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})')
            and list_bool_and(list_transform(string_split(s, '.'), o -> cast(o as integer) <= 255))
            then list_transform(string_split(s, '.'), o -> cast(o as integer))
        when regexp_full_match(s, '[0-9A-Fa-f:]+') and s like '%:%'
            and (length(s) - length(replace(s, '::', ''))) <= 2
            and len({schema}.ip_hextets(s)) = 8
            and list_bool_and(list_transform({schema}.ip_hextets(s), h -> regexp_full_match(h, '[0-9A-Fa-f]{1,4}')))
            then list_transform({schema}.ip_hextets(s), h -> cast(('0x' || h) as integer))
    end
);
create or replace macro {schema}.ip_trunc(b, n) as (
    list_transform(
        range(1, len(b) + 1),
        i -> b[i] & (
            ((1 << greatest(0, least(case len(b) when 4 then 8 else 16 end, n - (i - 1) * case len(b) when 4 then 8 else 16 end))) - 1)
            << (case len(b) when 4 then 8 else 16 end - greatest(0, least(case len(b) when 4 then 8 else 16 end, n - (i - 1) * case len(b) when 4 then 8 else 16 end)))
        )
    )
);
create or replace macro {schema}.ip_compress_zero_groups(s) as (
    case
        when s like ':0:0:0:0:0:0:0:0:%' then regexp_replace(s, '(:0){8}:', '::')
        when s like '%:0:0:0:0:0:0:0:%' then regexp_replace(s, '(:0){7}:', '::')
        when s like '%:0:0:0:0:0:0:%' then regexp_replace(s, '(:0){6}:', '::')
        when s like '%:0:0:0:0:0:%' then regexp_replace(s, '(:0){5}:', '::')
        when s like '%:0:0:0:0:%' then regexp_replace(s, '(:0){4}:', '::')
        when s like '%:0:0:0:%' then regexp_replace(s, '(:0){3}:', '::')
        when s like '%:0:0:%' then regexp_replace(s, '(:0){2}:', '::')
        else s
    end
);
create or replace macro {schema}.ip_to_string(b) as (
    case
        when len(b) = 4 then array_to_string(list_transform(b, o -> cast(o as varchar)), '.')
        when len(b) = 8 then (
            select case
                when c = '::' then '::'
                else
                    (case when c like '::%' then c else substr(c, 2) end)
            end
            from (select {schema}.ip_compress_zero_groups(':' || array_to_string(list_transform(b, h -> lower(printf('%x', h))), ':') || ':') as raw)
            cross join lateral (select case when raw like '%::' then raw else substr(raw, 1, length(raw) - 1) end as c)
        )
    end
);
