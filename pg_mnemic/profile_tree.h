/*
 * profile_tree.h
 *	  From a run's stack ids to call paths, and from call paths to the
 *	  merged call tree a flame graph draws.
 */
#ifndef MNEMIC_PROFILE_TREE_H
#define MNEMIC_PROFILE_TREE_H

#include "postgres.h"

#include "utils/hsearch.h"

/*
 * Frames the store never holds, for what a path cannot show otherwise:
 * a sample taken outside any Python code, and one whose stack was never
 * defined (its definitions lost, or still to come).
 */
#define FRAME_NO_PYTHON		(-1)
#define FRAME_UNDEFINED		(-2)

typedef struct ProfileFrameInfo
{
	int32		id;				/* key */
	int16		kind;
	int32		line;			/* first line of the function */
	char	   *function;
	char	   *file;
} ProfileFrameInfo;

/* A call path, outermost frame first, and what it weighs. */
typedef struct ProfilePath
{
	int32		stack;			/* the client's id */
	int64		value;			/* in the weight's unit (StackSum) */
	int			depth;
	int32	   *frames;			/* depth database frame ids */
	int32	   *lines;			/* the line executed in each */
} ProfilePath;

/* The paths of a run's summed stacks (profile_query.h's StackSum). */
typedef struct ProfilePaths
{
	int			n;
	ProfilePath *paths;
} ProfilePaths;

extern ProfilePaths ProfileResolvePaths(int32 run_id, HTAB *sums);

/* Names of the frames of ids (FRAME_* included), keyed by id. */
extern HTAB *ProfileFrameInfos(const int32 *ids, int n);

/* The frame info of id, from a table made by ProfileFrameInfos. */
extern ProfileFrameInfo *ProfileFrameInfoOf(HTAB *infos, int32 id);

/*
 * The merged call tree: node 0 is the root ("all"); a node is a frame
 * under its parent node.  Values come in NSIDES sets, for diffs.
 */
#define PROFILE_NSIDES	2

typedef struct ProfileNode
{
	int32		parent;			/* node; -1 for the root */
	int32		frame;
	int32		depth;
	int64		self[PROFILE_NSIDES];	/* in the weight's unit */
	int64		total[PROFILE_NSIDES];
	int32		first_child;	/* -1: none */
	int32		next_sibling;
} ProfileNode;

typedef struct ProfileTree
{
	ProfileNode *nodes;
	int32		n;
	int32		cap;
	HTAB	   *children;		/* (parent, frame) -> node */
	HTAB	   *frames;			/* ProfileFrameInfos, once finished */
	int32	   *order;			/* the nodes depth-first, children by name */
} ProfileTree;

extern ProfileTree *ProfileTreeCreate(void);

/* Add every path's value to side (0 or 1) of its nodes. */
extern void ProfileTreeAdd(ProfileTree *tree, const ProfilePaths *paths,
						   int side);

/* Load the frames' names and order the nodes; the tree is then read-only. */
extern void ProfileTreeFinish(ProfileTree *tree);

#endif							/* MNEMIC_PROFILE_TREE_H */
