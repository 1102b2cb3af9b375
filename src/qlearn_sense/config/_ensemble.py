"""Config models of the NV-ensemble sensor and the collective engine (issue 11).

Wired into ``ExperimentConfig`` as ``ensemble: EnsembleConfig | None = None``. SI units in the
field names; errors name the field, the value and what is accepted.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from qlearn_sense.config._models import FieldError, Float, Int, _Model

MAX_COLLECTIVE_SPINS = 1000


class EnsembleSensorConfig(_Model):
    """An NV-ensemble magnetometer (``qlearn_sense.physics.NVEnsembleSensor``).

    Give the spin number as ``n_spins`` or as ``density_per_m3`` x ``volume_m3``, and the readout
    as photons per spin per shot (``a0_photons``, ``a1_photons``) or as ``contrast`` with
    ``photons_per_shot`` (mean of the two states, per spin).
    """

    kind: Literal["nv_ensemble"] = "nv_ensemble"
    n_spins: Annotated[Float, Field(ge=1, le=1e20)] | None = None
    density_per_m3: Annotated[Float, Field(gt=0, le=1e28)] | None = None
    volume_m3: Annotated[Float, Field(gt=0, le=1e-3)] | None = None
    a0_photons: Annotated[Float, Field(gt=0, le=1e6)] | None = None
    a1_photons: Annotated[Float, Field(ge=0, le=1e6)] | None = None
    contrast: Annotated[Float, Field(gt=0, le=1)] | None = None
    photons_per_shot: Annotated[Float, Field(gt=0, le=1e6)] | None = None
    delta_ms: Literal[1, 2] = 1
    t2_star_s: Annotated[Float, Field(gt=0, le=1.0)]
    t2_s: Annotated[Float, Field(gt=0, le=10.0)]
    stretch_exponent: Annotated[Float, Field(ge=0.5, le=4.0)] = 1.0
    overhead_s: Annotated[Float, Field(ge=0, le=1.0)] = 3e-6
    cpmg_t2_exponent: Annotated[Float, Field(ge=0, le=1.0)] = 0.0
    cpmg_max_pulses: Annotated[Int, Field(ge=1, le=1024)] = 16
    gyromagnetic_ratio_Hz_per_T: Annotated[Float, Field(gt=0)] = 28.024e9

    @model_validator(mode="after")
    def _check(self) -> "EnsembleSensorConfig":
        by_density = self.density_per_m3 is not None or self.volume_m3 is not None
        if (self.n_spins is None) == (not by_density) or (by_density and (self.density_per_m3 is None
                                                                           or self.volume_m3 is None)):
            raise FieldError("n_spins", self.n_spins,
                             "give either n_spins or both density_per_m3 and volume_m3")
        photons = self.a0_photons is not None or self.a1_photons is not None
        contrast = self.contrast is not None or self.photons_per_shot is not None
        if photons == contrast or (photons and (self.a0_photons is None or self.a1_photons is None)) or (
                contrast and (self.contrast is None or self.photons_per_shot is None)):
            raise FieldError("a0_photons", self.a0_photons,
                             "give either a0_photons and a1_photons, or contrast and photons_per_shot")
        if photons and self.a0_photons <= self.a1_photons:
            raise FieldError("a1_photons", self.a1_photons,
                             f"accepted: a1_photons < a0_photons = {self.a0_photons} (m_s = 0 is brighter)")
        if self.t2_s < self.t2_star_s:
            raise FieldError("t2_s", self.t2_s, f"accepted: t2_s >= t2_star_s = {self.t2_star_s}")
        return self

    @property
    def spins(self) -> float:
        """N, from n_spins or density x volume."""
        return self.n_spins if self.n_spins is not None else self.density_per_m3 * self.volume_m3

    @property
    def photons(self) -> tuple[float, float]:
        """``(a0, a1)``: photons per spin per shot, from either form."""
        if self.a0_photons is not None:
            return self.a0_photons, self.a1_photons
        return self.photons_per_shot * (1 + self.contrast), self.photons_per_shot * (1 - self.contrast)


class CollectiveEngineConfig(_Model):
    """The exact permutation-symmetric engine (``qlearn_sense.collective``).

    ``t1_s`` (optional) adds T1 decay: amplitude damping with probability ``1 - exp(-tau/T1)`` per spin
    during the interrogation tau, on top of the total coherence factor of the sensor's T2/T2*
    (e.g. room-temperature NV T1 ~ ms: Jarmola et al., PRL 108, 197601 (2012)).
    """

    engine: Literal["collective"] = "collective"
    n_spins: Annotated[Int, Field(ge=2)] = 20
    preparation: Literal["css", "ghz", "oat", "tact"] = "oat"
    prep_layers: Annotated[Int, Field(ge=0, le=20)] = 2
    measurement: Literal["none", "rotation", "oat"] = "rotation"
    meas_layers: Annotated[Int, Field(ge=0, le=20)] = 0
    observable: Literal["jz", "jy", "parity"] = "jz"
    objective: Literal["qfi", "cfi"] = "qfi"
    steps: Annotated[Int, Field(ge=1, le=100_000)] = 300
    restarts: Annotated[Int, Field(ge=1, le=64)] = 4
    eta_values: list[Annotated[Float, Field(gt=0, le=1)]] = [0.8, 0.9, 0.95, 0.99]
    t1_s: Annotated[Float, Field(gt=0, le=1000.0)] | None = None

    @model_validator(mode="after")
    def _check(self) -> "CollectiveEngineConfig":
        if self.n_spins > MAX_COLLECTIVE_SPINS:
            raise FieldError("n_spins", self.n_spins,
                             f"accepted: 2..{MAX_COLLECTIVE_SPINS} (the exact collective engine's limit)")
        return self


class EnsembleConfig(_Model):
    """The ``ensemble:`` section: sensor, collective engine and detection targets."""

    sensor: EnsembleSensorConfig
    collective: CollectiveEngineConfig = CollectiveEngineConfig()
    alpha: Annotated[Float, Field(gt=0, lt=0.5)] = 0.01
    beta: Annotated[Float, Field(gt=0, lt=0.5)] = 0.05
    event_window_widths: Annotated[Float, Field(gt=0, le=50)] = 8.0
