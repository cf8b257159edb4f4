System.Console.WriteLine("hello");
if (args is ["--wait"])
{
    System.Console.ReadLine(); // the floor for an idle prompt (--only shell)
}
