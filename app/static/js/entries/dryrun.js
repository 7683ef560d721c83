// The dry run page: the diagram follows the path of the in-memory run.
import "./diagram.js";
import "../processes/dryrun.js";
