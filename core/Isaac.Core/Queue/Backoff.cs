namespace Isaac.Core.Queue;

/// <summary>Exponential back-off with jitter, capped.</summary>
internal static class Backoff
{
    /// <summary>
    /// The delay before attempt <paramref name="failures"/> + 1: <c>base · 2^(failures-1)</c>, capped at
    /// <paramref name="max"/>, then scaled by a random factor in [0.5, 1) so that many commands that
    /// failed together do not retry together.
    /// </summary>
    public static TimeSpan Delay(int failures, TimeSpan @base, TimeSpan max, Random random)
    {
        var exponent = Math.Min(Math.Max(failures - 1, 0), 30);
        var ceiling = Math.Min(@base.TotalMilliseconds * Math.Pow(2, exponent), max.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(ceiling * (0.5 + (random.NextDouble() * 0.5)));
    }
}
