namespace Isaac.Core.Tests.Fuzz;

/// <summary>
/// Tests that allocate hard for seconds (fuzzing) or measure the whole process's allocations (the stdout cap,
/// hostile manifests) run one at a time, after the parallel ones: nothing else counts against a measurement, and
/// fuzzing does not compete with timing-sensitive process tests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FuzzCollection
{
    public const string Name = "Fuzz";
}
