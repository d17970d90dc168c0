"""CUDA graphs for inference: the detector's forward and box decoding recorded once per input shape and replayed.

At batch 1 a 50 M-parameter detector is launch-bound: ~400 kernels whose launch costs more host time than their GPU
time. A CUDA graph launches them all with one call. :class:`GraphedDecode` records ``model.head.decode(
model.forward_raw(x))`` (float32 ``[B, N, 4 + C]``, no host synchronisation inside) for each new ``(shape, dtype)``
of ``x`` and replays it afterwards; NMS (data-dependent shapes) runs outside the graph, as before. Outputs equal the
eager call's (same kernels on the same inputs); ``tests`` on a GPU and ``tools/benchmark.py`` check it.

The recorded output is a static buffer, overwritten by the next replay of the same shape: consume (or copy) it
before the next call, as :meth:`detector.model.Detector.predict` does (NMS makes new tensors).
"""

from __future__ import annotations

from collections import OrderedDict

import torch

from detector.model import Detector

MAX_GRAPHS = 8  # shapes kept; rect letterboxing of mixed images makes a few, a video one


class GraphedDecode:
    """``runner(x) -> decoded``: ``model.head.decode(model.forward_raw(x))`` from a CUDA graph per input shape.

    ``model``: an eval-mode Detector on a CUDA device, weights in their final dtype and memory format (fold BatchNorm
    and cast before building this: the graph keeps pointers to the weights). ``warmup``: eager calls on a side
    stream before recording (cuDNN picks its algorithms, lazy caches fill). At most ``max_graphs`` shapes are kept,
    least recently used dropped first. ``graphs_recorded`` counts recordings (a test checks that one shape records
    once).
    """

    def __init__(self, model: Detector, warmup: int = 3, max_graphs: int = MAX_GRAPHS):
        param = next(model.parameters())
        if param.device.type != "cuda":
            raise ValueError(f"CUDA graphs need the model on a CUDA device, it is on {param.device}")
        self.model, self.warmup, self.max_graphs = model, int(warmup), int(max_graphs)
        self.graphs: OrderedDict[tuple, tuple[torch.cuda.CUDAGraph, torch.Tensor, torch.Tensor]] = OrderedDict()
        self.graphs_recorded = 0

    def _eager(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.head.decode(self.model.forward_raw(x))

    def _record(self, x: torch.Tensor) -> tuple[torch.cuda.CUDAGraph, torch.Tensor, torch.Tensor]:
        static_in = x.clone(memory_format=torch.preserve_format)
        side = torch.cuda.Stream(device=x.device)
        side.wait_stream(torch.cuda.current_stream(x.device))
        with torch.cuda.stream(side):
            for _ in range(self.warmup):
                self._eager(static_in)
        torch.cuda.current_stream(x.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):  # a private memory pool per shape: replays in any order are safe
            static_out = self._eager(static_in)
        self.graphs_recorded += 1
        return graph, static_in, static_out

    @torch.inference_mode()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[B, 3, H, W]`` on the model's device, the model's dtype -> float32 ``[B, N, 4 + C]`` (static)."""
        key = (tuple(x.shape), x.dtype, x.stride(), x.device)
        entry = self.graphs.get(key)
        if entry is None:
            entry = self._record(x)
            self.graphs[key] = entry
            if len(self.graphs) > self.max_graphs:
                self.graphs.popitem(last=False)
        else:
            self.graphs.move_to_end(key)
        graph, static_in, static_out = entry
        static_in.copy_(x)
        graph.replay()
        return static_out
