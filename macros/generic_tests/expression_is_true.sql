{#- Fails with the rows where a boolean SQL expression does not hold (NULL counts as a failure
    unless the expression handles it). -#}
{% test expression_is_true(model, expression) %}
    select *
    from {{ model }}
    where not coalesce(({{ expression }}), false)
{% endtest %}
