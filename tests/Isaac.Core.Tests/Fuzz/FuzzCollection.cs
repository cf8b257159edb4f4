namespace Isaac.Core.Tests.Fuzz;

/// <summary>
/// Fuzzing allocates hard for seconds; run it alone so tests that measure the process's total allocations
/// (the stdout cap) do not count ours, and so fuzzing does not compete with timing-sensitive process tests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FuzzCollection
{
    public const string Name = "Fuzz";
}
