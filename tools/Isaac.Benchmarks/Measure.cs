using System.Diagnostics;
using System.Reflection;

namespace Isaac.Benchmarks;

/// <summary>Latency samples in microseconds.</summary>
internal sealed record Samples(double[] Micros)
{
    public double P50 => Percentile(0.50);
    public double P99 => Percentile(0.99);

    public double Percentile(double p)
    {
        var sorted = Micros.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
    }
}

internal static class Measure
{
    public static async Task<Samples> InProcessAsync<T>(int iterations, Func<Task<T>> action)
    {
        for (var i = 0; i < Math.Min(iterations, 20_000); i++)
        {
            await action();
        }

        var samples = new double[iterations];
        for (var i = 0; i < iterations; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await action();
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        return new Samples(samples);
    }

    /// <summary>Runs the cases round-robin so that machine noise spreads evenly over all of them.</summary>
    public static async Task<Samples[]> InterleavedAsync(int runs, params (string Name, Func<Task> Action)[] cases)
    {
        foreach (var (_, action) in cases)
        {
            await action();
        }

        var samples = cases.Select(_ => new double[runs]).ToArray();
        for (var run = 0; run < runs; run++)
        {
            for (var c = 0; c < cases.Length; c++)
            {
                var start = Stopwatch.GetTimestamp();
                await cases[c].Action();
                samples[c][run] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }
        }

        return samples.Select(s => new Samples(s)).ToArray();
    }
}

/// <summary>Paths the build recorded in the assembly (AssemblyMetadata items of the project file).</summary>
internal static class BuildInfo
{
    public static string Get(string key) =>
        typeof(BuildInfo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}
