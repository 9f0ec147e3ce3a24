"""Detections: alerts on abnormal archive searching, each explained in one line with numbers.

`config` reads the rules file, `days` cuts local days out of UTC hours, `features` reads
per-user counts from the rollups and search texts from the day's rows, `counts`, `timing`
and `content` hold the rule families, and `runner` scores every complete day not yet
scored and stores the alerts through `db.alerts`.
"""
