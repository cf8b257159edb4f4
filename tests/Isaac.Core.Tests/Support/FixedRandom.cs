namespace Isaac.Core.Tests.Support;

/// <summary>A "random" source that always answers the same, so jittered delays can be asserted exactly.</summary>
internal sealed class FixedRandom(double value) : Random
{
    public override double NextDouble() => value;
}
