"""What the streaming analysers share: they are fed planar blocks, then give one result."""

from __future__ import annotations

import abc
from typing import ClassVar, Generic, TypeVar

import numpy as np

from pipeline.errors import ParameterError
from pipeline.monomix import MonoSpectrogram, SpectrogramTap

__all__ = ["BlockAnalyser", "SpectrogramAnalyser"]

ResultT = TypeVar("ResultT")


class BlockAnalyser(abc.ABC, Generic[ResultT]):
    """An analyser fed block by block with :meth:`process`, finished by :meth:`result`.

    A subclass consumes a block in ``_take`` and computes its result once in ``_finish``; after
    :meth:`result` it takes no more blocks.
    """

    #: How error messages name the analyser ("detector", "tracker", ...).
    kind: ClassVar[str] = "analyser"
    _result: ResultT | None = None

    def process(self, block: np.ndarray) -> None:
        """Consume one block.

        Parameters
        ----------
        block : np.ndarray [shape=(channels, n)], float32, C-contiguous
            Planar samples at ``sample_rate``; any ``n``.
        """
        if self._result is not None:
            raise ParameterError(
                f"result() was already called; the {self.kind} takes no more blocks"
            )
        self._take(block)

    def result(self) -> ResultT:
        """Finish the input and return the result; later calls return the same one."""
        if self._result is None:
            self._result = self._finish()
        return self._result

    @abc.abstractmethod
    def _take(self, block: np.ndarray) -> None:
        """Consume one block (not yet checked)."""

    @abc.abstractmethod
    def _finish(self) -> ResultT:
        """Compute the result at the end of the input (called once)."""


class SpectrogramAnalyser(BlockAnalyser[ResultT]):
    """An analyser that reads the power frames of a :class:`~pipeline.monomix.MonoSpectrogram`,
    its own or one shared with other analysers through a tap."""

    sample_rate: int
    channels: int
    analysis_rate: int
    _tap: SpectrogramTap

    def _attach(self, front_end: MonoSpectrogram) -> None:
        self.sample_rate = front_end.sample_rate
        self.channels = front_end.channels
        self.analysis_rate = front_end.analysis_rate
        self._tap = front_end.tap()

    def _take(self, block: np.ndarray) -> None:
        self._consume(self._tap.process(block))

    def _finish(self) -> ResultT:
        self._consume(self._tap.flush())
        return self._conclude()

    @abc.abstractmethod
    def _consume(self, power: np.ndarray) -> None:
        """Take power frames, (1 + n_fft // 2, k) float32."""

    @abc.abstractmethod
    def _conclude(self) -> ResultT:
        """Compute the result once every frame is consumed."""
