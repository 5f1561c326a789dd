"""Calibration against history: ABC-SMC over the ensemble engine, with a hindcast split.

Why our own sampler rather than pyabc: pyabc hands particles to the model one
at a time through its samplers (its docs suggest Dask only for simulations
slower than ~100 ms), while the engine here runs a thousand members of the
model in about a second when they come as one array. So proposals are drawn
in batches, each batch is cut into fixed chunks, and each chunk runs as one
ensemble through the same chunk machinery and executors as sweeps (local
processes or a Dask cluster). The algorithm is the standard population Monte
Carlo ABC of Beaumont et al. (2009) / Toni et al. (2009):

* generation 0: sample the prior, simulate, keep the ``particles`` closest;
* generation t: the tolerance is the ``quantile`` of the previous accepted
  distances; propose by resampling the previous population by weight and
  perturbing with a Gaussian kernel of twice its weighted covariance (in the
  priors' working space: log for log-uniform and log-normal priors); accept a
  proposal within the tolerance; weight = prior / mixture of kernels.

Distance: each summary statistic (:mod:`sim.evidence.targets`) is scaled by
its median absolute deviation under the prior predictive (generation 0, kept
fixed afterwards so that tolerances of different generations are comparable),
then the root mean square over statistics. Only evidence inside the
calibration period enters; everything after it is kept for the hindcast.

Reproducibility and resume: proposal randomness and every simulation seed
derive from the calibration seed and (generation, batch, index), chunks never
depend on the number of workers, and each finished generation is written
atomically, so a stopped calibration resumes from its last generation and
produces the same result as an uninterrupted one.

Modules: ``priors`` (the calibration file), ``abc`` (the sampler),
``simulate`` (particles as ensemble chunks), ``outputs`` (running a file,
resume, summary, calibrated scenario) and ``evaluate`` (prior and posterior
scored on the calibration and held-out periods).
"""
