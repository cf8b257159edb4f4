namespace Isaac.Core.Tests.Support;

/// <summary>A fact that needs PostgreSQL: skipped with <see cref="PostgresCluster.SkipReason"/> when it is missing locally (never under CI=true).</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute() => Skip = PostgresCluster.SkipReason!;
}

/// <summary>The hub engines the behaviour suite runs against: SQLite always, PostgreSQL when it is there (always under CI=true).</summary>
internal static class HubEngines
{
    public static TheoryData<string> All()
    {
        var engines = new TheoryData<string> { "sqlite" };
        if (PostgresCluster.SkipReason is null)
        {
            engines.Add("postgres");
        }

        return engines;
    }
}
