"""Running the analysis beyond one process (``--dask``): sctpinspect/scale/dask_run.py."""
