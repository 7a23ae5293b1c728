"""helixer-fetch-model: released Helixer models, from upstream's published list into upstream's cache."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import common

DESCRIPTION = """\
Download released Helixer models (the fine-tuning guide starts from one, e.g. land_plant_v0.3_a_0080)
from the list upstream publishes (lineage, priority, download link, ...), into the folder upstream Helixer
uses, so Helixer.py --lineage finds what this fetched and this finds what Helixer fetched. The lowest
priority of a lineage is its default model. Every file is checked against its published md5 (the list's
md5 column, or Zenodo's record API); an interrupted download resumes from where it stopped when run again;
a model appears under its name only whole and verified. The list is kept beside the models, for offline
use. Proxies come from the environment (https_proxy, no_proxy). Prints the path of each model on stdout.

examples:
  helixer-fetch-model --list
  helixer-fetch-model --lineage land_plant               # its default model
  helixer-fetch-model --model fungi_v0.3_a_0100 --output-dir models/
  model=$(helixer-fetch-model --lineage fungi -q) && helixer-predict --model "$model" ...
"""


def build_parser() -> argparse.ArgumentParser:
    required, req = common.required_parser()
    which = req.add_mutually_exclusive_group(required=True)
    which.add_argument("--lineage", "-l", metavar="LINEAGE",
                       help="the default model of a lineage (land_plant, vertebrate, invertebrate, fungi)")
    which.add_argument("--model", "-m", metavar="NAME", action="append",
                       help="a model by name (or file name, or an older name of it); may be repeated")
    which.add_argument("--all", "-a", action="store_true", help="every listed model")
    which.add_argument("--list", action="store_true",
                       help="show the listed models (lineage, model, default, date, cached) and download nothing")
    opts = argparse.ArgumentParser(add_help=False)
    g = opts.add_argument_group("where")
    g.add_argument("--output-dir", "-o", metavar="DIR", default=None,
                   help="the models folder: <DIR>/<lineage>/<file>, the list as <DIR>/model_list.csv "
                        "(default: upstream Helixer's, %s)" % _default_dir())
    g.add_argument("--model-list", metavar="URL|FILE", default=None,
                   help="the model list, in upstream's CSV format (default: $HELIXER_MODEL_LIST, else upstream's "
                        "published list; when it cannot be reached, the copy kept in the models folder)")
    g.add_argument("--offline", action="store_true", help="use the list kept in the models folder; fetch no list")
    g.add_argument("--force", action="store_true", help="download again a model that is already there")
    common.output_option(g, "--json", metavar="FILE",
                         help="the fetched models as JSON: model, lineage, priority, available_since, path, md5, "
                              "what happened (cached, downloaded, resumed); for pipelines and Galaxy's data manager")
    return common.make_parser("helixer-fetch-model", DESCRIPTION, [required, opts])


def _default_dir():
    from ..models import default_models_dir

    return default_models_dir()


def _run(args: argparse.Namespace, argv: list[str]) -> None:
    from .. import models as m
    from ..progress import Progress

    models_dir = args.output_dir or str(_default_dir())
    source = args.model_list or os.environ.get("HELIXER_MODEL_LIST") or m.MODEL_LIST_URL
    listed, came_from = m.load_model_list(source, models_dir, refresh=not args.offline)
    if args.list:
        defaults = {id(m.default_of(listed, lin)) for lin in m.lineages(listed)}
        rows = [("lineage", "model", "default", "available_since", "cached")]
        rows += [(x.lineage, x.name, "yes" if id(x) in defaults else "", x.available_since,
                  str(x.cached(models_dir) or "")) for x in listed]
        widths = [max(len(r[k]) for r in rows) for k in range(4)]
        for r in rows:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[4])
        common.log.info("%d models in %s; models folder %s", len(listed), came_from, models_dir)
        return
    if args.all:
        chosen = listed
    elif args.lineage:
        chosen = [m.default_of(listed, args.lineage)]
    else:
        chosen = list(dict.fromkeys(m.find(listed, name) for name in args.model))
    fetched = []
    for model in chosen:
        with Progress(0, model.file_name, unit="B", enabled=not args.quiet) as bar:
            def progress(done: int, total: int) -> None:
                if bar.total != total:
                    bar.set_total(total)
                bar.update(done - bar.done)

            path, how = m.fetch(model, models_dir, force=args.force, progress=progress)
        common.log.info("%s (%s, priority %d): %s %s", model.name, model.lineage, model.priority, how, path)
        print(path)
        fetched.append({"model": model.name, "lineage": model.lineage, "priority": model.priority,
                        "available_since": model.available_since, "path": str(Path(path).resolve()),
                        "md5": m.md5_of(Path(path)), "how": how})
    if args.json:
        import json

        from ..atomic import atomic_path

        with atomic_path(args.json) as tmp:
            Path(tmp).write_text(json.dumps(fetched, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    return common.run(build_parser(), argv, _run)


if __name__ == "__main__":
    sys.exit(main())
