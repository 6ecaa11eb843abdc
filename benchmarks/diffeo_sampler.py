"""Batched diffeomorphism sampler vs the per-image loop, 256 CIFAR-sized images on 2 CPU threads.

Both paths sample the coefficients and deform every image; the loop is `deform_loop`, the
plain per-image implementation of the same maths (README, 'Real images'). A third row calls
the batched code once per image, to separate the cost of Python-level looping from the maths.
Rounds alternate the variants, so that load from other processes hits them alike; within a round
each variant runs once untimed, then --inner timed calls (a variant run straight after another
pays for cold caches and sleeping threads, which is not its own cost).

    python benchmarks/diffeo_sampler.py [--repeats 5] [--inner 5]
"""
import argparse
import statistics
import time

import torch

from baselines import deform_loop
from spatialpool.perturbations.diffeo import deform, sample_coefficients, temperature


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5, help="rounds over the variants")
    parser.add_argument("--inner", type=int, default=5, help="timed calls per variant and round")
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()
    torch.set_num_threads(2)
    n, cut = 32, 3
    temp = temperature(1.0, n, cut)
    gen = torch.Generator().manual_seed(0)
    images = torch.randn(args.batch, 3, n, n, generator=gen)

    def batched():
        return deform(images, temp, cut, gen)[0]

    def loop():
        return deform_loop(images, sample_coefficients(len(images), cut, temp, gen), cut)

    def batched_per_image():
        return torch.cat([deform(images[b:b + 1], temp, cut, gen)[0] for b in range(len(images))])

    variants = {"batched": batched, "loop (deform_loop)": loop, "batched code, one image per call": batched_per_image}
    times = {name: [] for name in variants}
    cpu = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, fn in variants.items():
            fn()  # untimed: caches and thread pool warm for this variant
            for _ in range(args.inner):
                start, start_cpu = time.perf_counter(), time.process_time()
                fn()
                times[name].append(time.perf_counter() - start)
                cpu[name].append(time.process_time() - start_cpu)
    median = {name: statistics.median(t) for name, t in times.items()}
    median_cpu = {name: statistics.median(t) for name, t in cpu.items()}
    print(f"{args.batch} images 3x{n}x{n}, float32, c={cut}, T={temp:.4e}, "
          f"{torch.get_num_threads()} threads, median of {args.repeats} x {args.inner} calls "
          "(wall; CPU time in brackets)")
    for name, t in median.items():
        print(f"  {name:34s} {1e3 * t:8.2f} ms  ({1e6 * t / args.batch:6.1f} us/image)  "
              f"[cpu {1e3 * median_cpu[name]:8.2f} ms]")
    loop, one, batched = "loop (deform_loop)", "batched code, one image per call", "batched"
    print(f"  per-image calls / batched: {median[one] / median[batched]:.1f}x")
    print(f"  cpu time, loop / batched: {median_cpu[loop] / median_cpu[batched]:.1f}x")
    print(f"speedup (loop / batched): {median[loop] / median[batched]:.1f}x")


if __name__ == "__main__":
    main()
