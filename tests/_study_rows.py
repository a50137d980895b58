"""Stand-in rows of a validation study, shared by the studies' rule tests."""


def cheap_contender_rows(tables, contenders, cheap, cheap_cpu, worse_on):
    """One row per table and model (``"histgb"`` and ``contenders``): each
    scores 0.7 at 1 CPU second but ``cheap``: ``cheap_cpu`` seconds, and 0.006
    lower on the table ``worse_on``."""
    rows = []
    for t, table in enumerate(tables):
        for model in ["histgb", *contenders]:
            is_cheap = model == cheap
            score = 0.7 - (0.006 if is_cheap and table == worse_on else 0.0)
            row = dict(table=table, seed=0, model=model, fit_rows=5000 + t)
            row.update(
                table_rows=9000, score=score, cpu_s=cheap_cpu if is_cheap else 1.0
            )
            rows.append(row)
    return rows
