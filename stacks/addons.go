package stacks

// addonKeys configure the cluster add-ons.
var addonKeys = []Key{}
