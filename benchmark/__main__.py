from .offline import quiet_library_progress_bars

quiet_library_progress_bars()  # before anything imports tqdm

from .cli import main  # noqa: E402

raise SystemExit(main())
